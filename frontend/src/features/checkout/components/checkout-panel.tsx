import { useEffect, useRef, useState, type ReactNode } from "react";

import { Alert, Button, Card, Input, Spinner } from "@/components/ui";
import { errorMessage } from "@/lib/api-client";
import { formatMoney, formatTime } from "@/lib/format";

import { useCreateOrder } from "../api/create-order";
import { useDevCheckout } from "../api/dev-checkout";
import { payWithRazorpay } from "../api/razorpay-checkout";
import { checkoutOrderId, type Booking, type PaymentResult } from "../api/schemas";
import { useVerifyPayment } from "../api/verify-payment";

type Props = {
  showtimeId: number;
  seatIds: string[];
  /** rendered under a confirmed booking (e.g. a ticket download button) */
  renderBooking?: (booking: Booking) => ReactNode;
  onBack: () => void;
};

/** Create the order, show the server's amount, pay through the configured gateway, verify. */
export function CheckoutPanel({ showtimeId, seatIds, renderBooking, onBack }: Props) {
  const createOrder = useCreateOrder();
  const applyPromo = useCreateOrder(); // the same seats again with a code: the server answers with the new amount
  const [promoCode, setPromoCode] = useState("");
  const devCheckout = useDevCheckout();
  const verify = useVerifyPayment();
  const [payError, setPayError] = useState<string | null>(null);
  const [paying, setPaying] = useState(false);
  const started = useRef(false);
  const seatKey = seatIds.join(",");

  useEffect(() => {
    if (started.current || seatIds.length === 0) return;
    started.current = true; // one order per visit (effects run twice in development)
    createOrder.mutate({ showtime_id: showtimeId, seat_ids: seatIds });
  }, [showtimeId, seatKey]); // eslint-disable-line react-hooks/exhaustive-deps

  if (seatIds.length === 0) return <Alert>No seats were chosen. Go back and pick your seats.</Alert>;
  if (createOrder.isError) {
    return (
      <Card className="space-y-4 p-6">
        <Alert title="Could not start checkout">{errorMessage(createOrder.error)}</Alert>
        <Button variant="secondary" onClick={onBack}>Back to seats</Button>
      </Card>
    );
  }
  const order = applyPromo.data ?? createOrder.data;
  if (!order) return <Card className="p-6"><Spinner label="Preparing your order…" /></Card>;

  const result = verify.data;
  if (result) {
    if (result.status !== "booked" || !result.booking) {
      return (
        <Alert tone="warning" title="Your seats could not be booked">
          The payment went through but the seats were no longer held, so it is being refunded
          {result.status === "refund_pending" ? " (the refund is on its way)" : ""}.
        </Alert>
      );
    }
    const booking = result.booking;
    return (
      <Card className="space-y-5 p-6" data-testid="booking-confirmation">
        <div>
          <p className="text-sm font-semibold uppercase tracking-wider text-emerald-400">Booking confirmed</p>
          <h2 className="mt-1 text-2xl font-bold text-white">
            Reference <span data-testid="booking-reference" className="font-mono text-gold-300">{booking.reference}</span>
          </h2>
        </div>
        <dl className="grid grid-cols-2 gap-4 text-sm">
          <div><dt className="text-slate-400">Seats</dt><dd className="font-semibold text-white">{booking.seat_ids.join(", ")}</dd></div>
          <div><dt className="text-slate-400">Paid</dt><dd className="font-semibold text-white">{formatMoney(booking.amount, booking.currency)}</dd></div>
        </dl>
        {renderBooking?.(booking)}
      </Card>
    );
  }

  const finish = async (payment: Promise<PaymentResult>) => {
    setPayError(null);
    setPaying(true);
    try {
      await verify.mutateAsync(await payment);
    } catch (err) {
      setPayError(errorMessage(err));
    } finally {
      setPaying(false);
    }
  };

  return (
    <Card className="space-y-5 p-6" data-testid="order-summary">
      <div>
        <h2 className="text-lg font-semibold text-white">Order summary</h2>
        <p className="text-sm text-slate-400">Seats {order.seat_ids.join(", ")}</p>
      </div>
      <form className="flex items-end gap-2" onSubmit={(event) => {
        event.preventDefault();
        const code = promoCode.trim();
        if (code) applyPromo.mutate({ showtime_id: showtimeId, seat_ids: seatIds, promo_code: code });
      }}>
        <Input label="Promo code" className="flex-1" value={promoCode} maxLength={32} autoComplete="off"
               data-testid="promo-code" disabled={paying || applyPromo.isPending}
               onChange={(event) => setPromoCode(event.target.value)}
               error={applyPromo.isError ? errorMessage(applyPromo.error) : null} />
        <Button type="submit" variant="secondary" loading={applyPromo.isPending} disabled={paying || !promoCode.trim()}>
          Apply
        </Button>
      </form>
      {order.discount ? (
        <dl className="space-y-1 text-sm" data-testid="order-discount">
          <div className="flex justify-between"><dt className="text-slate-400">Seats</dt>
            <dd className="text-slate-200">{formatMoney(order.subtotal ?? order.amount, order.currency)}</dd></div>
          <div className="flex justify-between"><dt className="text-slate-400">Promo {order.promo_code}</dt>
            <dd className="text-emerald-400">−{formatMoney(order.discount, order.currency)}</dd></div>
        </dl>
      ) : null}
      <div className="flex items-baseline justify-between border-y border-ink-700/70 py-4">
        <span className="text-slate-300">Amount to pay</span>
        <span data-testid="order-amount" className="text-3xl font-bold text-white">
          {formatMoney(order.amount, order.currency)}
        </span>
      </div>
      {order.expires_at && (
        <p className="text-xs text-slate-400">Your seats are held for payment until {formatTime(order.expires_at)}.</p>
      )}
      {payError && <Alert>{payError}</Alert>}
      <div className="flex flex-wrap gap-3">
        {order.gateway === "razorpay" ? (
          <Button size="lg" loading={paying} onClick={() => void finish(payWithRazorpay(order))}>
            Pay {formatMoney(order.amount, order.currency)}
          </Button>
        ) : (
          <Button size="lg" loading={paying || devCheckout.isPending}
                  onClick={() => void finish(devCheckout.mutateAsync(checkoutOrderId(order)))}>
            Pay (test gateway)
          </Button>
        )}
        <Button variant="ghost" size="lg" onClick={onBack} disabled={paying}>Back to seats</Button>
      </div>
      {order.gateway !== "razorpay" && (
        <p className="text-xs text-slate-400">Test mode: no real money moves.</p>
      )}
    </Card>
  );
}
