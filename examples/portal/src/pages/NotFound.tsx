import { Link } from "react-router-dom";

export function NotFoundPage({ what }: { what: string }) {
  return (
    <section>
      <h1>{what} not found</h1>
      <p>It does not exist, or it is not yours to see.</p>
      <Link to="/">Back to your organization</Link>
    </section>
  );
}
