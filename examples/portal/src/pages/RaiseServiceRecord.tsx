import { useState, type FormEvent } from "react";
import { useMutation } from "urql";
import { graphql } from "../gql";
import type { Severity } from "../gql/graphql";

const RaiseComplaint = graphql(`
  mutation PortalRaiseComplaint($input: CreateServiceRecordInput!) {
    createComplaint(input: $input) {
      record { id kind title status }
      errors { field message code }
    }
  }
`);

const RaiseQualityObjection = graphql(`
  mutation PortalRaiseQualityObjection($input: CreateServiceRecordInput!) {
    createQualityObjection(input: $input) {
      record { id kind title status }
      errors { field message code }
    }
  }
`);

const SEVERITIES: Severity[] = ["LOW", "MEDIUM", "HIGH", "CRITICAL"];

/** A complaint about the order (optionally one line), or a quality objection against a line. */
export function RaiseServiceRecord(props: {
  organizationId: string;
  orderId: string;
  lines: { id: string; label: string }[];
  onRaised(): void;
}) {
  const [kind, setKind] = useState<"complaint" | "objection">("complaint");
  const [lineId, setLineId] = useState("");
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [severity, setSeverity] = useState<Severity>("MEDIUM");
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [complaint, raiseComplaint] = useMutation(RaiseComplaint);
  const [objection, raiseObjection] = useMutation(RaiseQualityObjection);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const input = {
      organizationId: props.organizationId,
      orderId: props.orderId,
      orderLineId: lineId || null,
      title: title.trim(),
      description: description.trim() || null,
      severity,
    };
    const result = kind === "complaint" ? await raiseComplaint({ input }) : await raiseObjection({ input });
    const payload = result.data ? ("createComplaint" in result.data ? result.data.createComplaint : result.data.createQualityObjection) : null;
    if (!payload) {
      setMessage({ ok: false, text: result.error?.message ?? "Nothing was raised." });
    } else if (payload.errors.length > 0) {
      // Typed errors: nothing was changed; say what to fix.
      setMessage({ ok: false, text: payload.errors.map((e) => e.message).join(" ") });
    } else if (payload.record) {
      setMessage({ ok: true, text: `Raised “${payload.record.title}”: ${payload.record.status}.` });
      setTitle("");
      setDescription("");
      props.onRaised();
    }
  }

  const busy = complaint.fetching || objection.fetching;
  return (
    <form className="raise" onSubmit={submit} aria-label="Raise a complaint or quality objection">
      <h2>Raise a complaint or quality objection</h2>
      <label>
        Kind
        <select name="kind" value={kind} onChange={(e) => setKind(e.target.value as "complaint" | "objection")}>
          <option value="complaint">Complaint</option>
          <option value="objection">Quality objection</option>
        </select>
      </label>
      <label>
        Order line
        <select name="line" value={lineId} onChange={(e) => setLineId(e.target.value)}>
          <option value="">{kind === "complaint" ? "the whole order" : "choose a line"}</option>
          {props.lines.map((l) => <option key={l.id} value={l.id}>{l.label}</option>)}
        </select>
      </label>
      <label>
        Severity
        <select name="severity" value={severity} onChange={(e) => setSeverity(e.target.value as Severity)}>
          {SEVERITIES.map((s) => <option key={s} value={s}>{s.toLowerCase()}</option>)}
        </select>
      </label>
      <label>
        Title
        <input name="title" required value={title} onChange={(e) => setTitle(e.target.value)} />
      </label>
      <label>
        What happened
        <textarea name="description" rows={3} value={description} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <button type="submit" disabled={busy || !title.trim()}>Raise</button>
      {message && <p className={message.ok ? "ok" : "error"} role="status">{message.text}</p>}
    </form>
  );
}
