import type { Order, PaymentResult } from "./schemas";
import { checkoutOrderId } from "./schemas";

type RazorpayInstance = { open: () => void; on: (event: string, fn: (r: unknown) => void) => void };
type RazorpayConstructor = new (options: Record<string, unknown>) => RazorpayInstance;

declare global {
  interface Window {
    Razorpay?: RazorpayConstructor;
  }
}

const SCRIPT = "https://checkout.razorpay.com/v1/checkout.js";
let loading: Promise<RazorpayConstructor> | null = null;

/** Razorpay's Checkout script, loaded once on first use (only in razorpay mode). */
function loadCheckout(): Promise<RazorpayConstructor> {
  if (window.Razorpay) return Promise.resolve(window.Razorpay);
  loading ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = SCRIPT;
    script.async = true;
    script.onload = () => (window.Razorpay ? resolve(window.Razorpay) : reject(new Error("Checkout did not load.")));
    script.onerror = () => {
      loading = null;
      reject(new Error("Could not load the Razorpay payment window. Check your connection and try again."));
    };
    document.head.appendChild(script);
  });
  return loading;
}

/** Open Razorpay Checkout for the order; resolves with the handler's result, rejects if closed or failed. */
export async function payWithRazorpay(order: Order, prefill: { email?: string; name?: string } = {}):
  Promise<PaymentResult> {
  const Razorpay = await loadCheckout();
  return new Promise((resolve, reject) => {
    const checkout = new Razorpay({
      key: order.key_id,
      order_id: checkoutOrderId(order),
      amount: order.amount,
      currency: order.currency,
      name: "CineVerse",
      description: `Seats ${order.seat_ids.join(", ")}`,
      prefill,
      theme: { color: "#f5b942" },
      handler: (response: PaymentResult) => resolve(response),
      modal: { ondismiss: () => reject(new Error("The payment window was closed before paying.")) },
    });
    checkout.on("payment.failed", (r) => {
      const reason = (r as { error?: { description?: string } }).error?.description;
      reject(new Error(reason ? `Payment failed: ${reason}` : "The payment failed."));
    });
    checkout.open();
  });
}
