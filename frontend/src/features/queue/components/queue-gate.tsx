import { useQueryClient } from "@tanstack/react-query";
import { useEffect, type ReactNode } from "react";

import { Alert, Button } from "@/components/ui";
import { useSignedIn } from "@/features/auth/hooks/use-signed-in";
import type { OnSale } from "@/features/seats/api/schemas";
import { formatDateTime } from "@/lib/format";

import { useHasQueuePass } from "../hooks/use-queue-pass";
import { useWaitingRoom } from "../hooks/use-waiting-room";

import { WaitingRoom } from "./waiting-room";

type Props = { showtimeId: number; onSale: OnSale; onNeedSignIn: () => void; children: ReactNode };

/**
 * In front of the seat map: with a waiting room, signed-in buyers wait for their pass first and the seat
 * map opens by itself when they are admitted; before the opening without a room, the map shows with the
 * time the sale opens.
 */
export function QueueGate({ showtimeId, onSale, onNeedSignIn, children }: Props) {
  const signedIn = useSignedIn();
  const hasPass = useHasQueuePass(showtimeId);
  const waiting = onSale.waiting_room && signedIn && !hasPass;
  const { view, retry } = useWaitingRoom(showtimeId, waiting);
  const queryClient = useQueryClient();
  useEffect(() => {
    if (view.phase === "open") void queryClient.invalidateQueries({ queryKey: ["showtime", showtimeId] });
  }, [view.phase, queryClient, showtimeId]);

  if (onSale.waiting_room && !signedIn) {
    return (
      <Alert title="This sale has a waiting room" tone="warning">
        <p>Sign in to join the queue; you will be let in to choose seats in turn.</p>
        <Button size="sm" className="mt-2" onClick={onNeedSignIn}>Sign in to join</Button>
      </Alert>
    );
  }
  if (waiting && view.phase !== "admitted" && view.phase !== "open") return <WaitingRoom view={view} onRetry={retry} />;
  const opensAt = onSale.sales_open_at;
  return (
    <>
      {opensAt && Date.parse(opensAt) > Date.now() && (
        <Alert tone="warning" className="mb-4">Sales open at {formatDateTime(opensAt)}.</Alert>
      )}
      {children}
    </>
  );
}
