import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import { Client, Provider, fetchExchange } from "urql";
import { trustedFetch } from "./documents";

// The API key lives in sessionStorage (gone when the tab closes) and travels only in the
// Authorization header: the API never authenticates by cookie, so there is nothing to forge.
const STORAGE_KEY = "partnergraph.apiKey";

/** The GraphQL endpoint: same origin under /portal, or VITE_GRAPHQL_URL at build time. */
export const GRAPHQL_URL: string = import.meta.env.VITE_GRAPHQL_URL || "/graphql";

export function makeClient(apiKey: string): Client {
  return new Client({
    url: GRAPHQL_URL,
    // No document cache: every page shows what the server says now.
    exchanges: [fetchExchange],
    fetch: trustedFetch,
    preferGetMethod: false,
    fetchOptions: () => ({ headers: { authorization: `Bearer ${apiKey}` }, credentials: "omit" }),
  });
}

interface Session {
  apiKey: string | null;
  signIn(apiKey: string): void;
  signOut(): void;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [apiKey, setApiKey] = useState<string | null>(() => sessionStorage.getItem(STORAGE_KEY));
  const signIn = useCallback((key: string) => {
    sessionStorage.setItem(STORAGE_KEY, key);
    setApiKey(key);
  }, []);
  const signOut = useCallback(() => {
    sessionStorage.removeItem(STORAGE_KEY);
    setApiKey(null);
  }, []);
  const client = useMemo(() => (apiKey ? makeClient(apiKey) : null), [apiKey]);
  const session = useMemo(() => ({ apiKey, signIn, signOut }), [apiKey, signIn, signOut]);
  return (
    <SessionContext.Provider value={session}>
      {client ? <Provider value={client}>{children}</Provider> : children}
    </SessionContext.Provider>
  );
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}
