// Display helpers. Money stays a decimal string end to end: never a float.

export function money(value: { amount: string; currency: string } | null | undefined): string {
  if (!value) return "—";
  // "36330.3400" -> "36,330.34": group the digits and drop zeros past the cents, as text.
  const [whole, fraction = ""] = value.amount.split(".");
  const cents = fraction.replace(/0+$/, "").padEnd(2, "0");
  return `${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}.${cents} ${value.currency}`;
}

export function day(value: string | null | undefined): string {
  return value ? value.slice(0, 10) : "—";
}

export function label(value: string | null | undefined): string {
  return value ? value.replace(/_/g, " ").toLowerCase() : "—";
}

export function edgesOf<T>(connection: { edges: { node: T }[] } | null | undefined): T[] {
  return connection ? connection.edges.map((edge) => edge.node) : [];
}
