import { useState, type FormEvent } from "react";
import { Navigate, useSearchParams } from "react-router-dom";
import { PartnerQuery } from "../partner";
import { makeClient, useSession } from "../session";

export function SignInPage() {
  const { apiKey, signIn } = useSession();
  const [params] = useSearchParams();
  const [key, setKey] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);
  const next = params.get("next") || "/";
  if (apiKey) return <Navigate to={next.startsWith("/") ? next : "/"} replace />;

  async function submit(event: FormEvent) {
    event.preventDefault();
    const candidate = key.trim();
    if (!candidate) return;
    setChecking(true);
    setProblem(null);
    try {
      // Check the key once before keeping it (a bad, expired or revoked key is a 401), with a
      // document of the portal's own: only those are in the trusted-documents manifest.
      const result = await makeClient(candidate).query(PartnerQuery, {}).toPromise();
      const status = result.error?.response?.status;
      if (status === 401) setProblem("This API key was not accepted.");
      else if (result.error && !result.data) setProblem(result.error.networkError ? "The API cannot be reached." : result.error.message);
      else signIn(candidate);
    } catch {
      setProblem("The API cannot be reached.");
    } finally {
      setChecking(false);
    }
  }

  return (
    <main className="signin">
      <h1>PartnerGraph portal</h1>
      <p>Sign in with the API key your account manager gave you. It is kept in this tab only.</p>
      <form onSubmit={submit}>
        <label>
          API key
          <input
            type="password"
            name="apiKey"
            autoComplete="off"
            placeholder="pgk_…"
            value={key}
            onChange={(e) => setKey(e.target.value)}
          />
        </label>
        <button type="submit" disabled={checking}>Sign in</button>
      </form>
      {problem && <p className="error" role="alert">{problem}</p>}
    </main>
  );
}
