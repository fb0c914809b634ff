"""Models, one module per aggregate; importing this package registers every table."""

from app.models.account import AuditLog, RevokedToken, Role, User
from app.models.booking import Booking, BookingState, Order, OrderState
from app.models.catalogue import Movie, Screen, Showtime, ShowtimeStatus, Theatre
from app.models.payment import Payment, PaymentState, Refund, RefundState, WebhookEvent
from app.models.promo import PromoCode, PromoKind
from app.models.seating import SeatState, ShowtimeSeat
from app.models.waiting_room import WaitingRoom
from app.models.waitlist import OfferState, WaitlistEntry, WaitlistOffer

__all__ = [
    "AuditLog", "Booking", "BookingState", "Movie", "OfferState", "Order", "OrderState", "Payment", "PaymentState",
    "PromoCode", "PromoKind", "Refund", "RefundState", "RevokedToken", "Role", "Screen", "SeatState",
    "Showtime", "ShowtimeSeat", "ShowtimeStatus", "Theatre", "User", "WaitingRoom", "WaitlistEntry",
    "WaitlistOffer", "WebhookEvent",
]
