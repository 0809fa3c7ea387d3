import type { CombinedError } from "urql";
import type { ReactNode } from "react";

/** Errors worth showing: a partner asking for a field it may not read gets FORBIDDEN on that
 * field only, with the rest of the data, so the page still renders what it has. */
export function ErrorNote({ error }: { error: CombinedError | undefined }) {
  if (!error) return null;
  const messages = error.networkError
    ? [error.response?.status === 429 ? "Too many requests: wait a moment." : "The API cannot be reached."]
    : error.graphQLErrors.map((e) => e.message);
  return <p className="error" role="alert">{messages.join(" ")}</p>;
}

export function Pager(props: {
  hasPrevious: boolean;
  hasNext: boolean;
  onPrevious(): void;
  onNext(): void;
  children?: ReactNode;
}) {
  return (
    <div className="pager">
      <button onClick={props.onPrevious} disabled={!props.hasPrevious}>← Previous</button>
      <span>{props.children}</span>
      <button onClick={props.onNext} disabled={!props.hasNext}>Next →</button>
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status.toLowerCase()}`}>{status.replace(/_/g, " ")}</span>;
}
