import { useEffect } from "react";
import { BrowserRouter, Navigate, NavLink, Outlet, Route, Routes, useLocation } from "react-router-dom";
import { useQuery } from "urql";
import { PartnerContext, PartnerQuery, pickPartner } from "./partner";
import { useSession } from "./session";
import { ErrorNote } from "./components";
import { FulfilledLinesPage } from "./pages/FulfilledLines";
import { NotFoundPage } from "./pages/NotFound";
import { OrderPage } from "./pages/Order";
import { OrdersPage } from "./pages/Orders";
import { OrganizationPage } from "./pages/Organization";
import { ServicePage } from "./pages/Service";
import { ShipmentsPage } from "./pages/Shipments";
import { SignInPage } from "./pages/SignIn";

export function App() {
  // Served under /portal/ (vite `base`): every client-side route lives below it.
  return (
    <BrowserRouter basename={import.meta.env.BASE_URL.replace(/\/$/, "")}>
      <Routes>
        <Route path="/sign-in" element={<SignInPage />} />
        <Route element={<SignedIn />}>
          <Route index element={<OrganizationPage />} />
          <Route path="orders" element={<OrdersPage />} />
          <Route path="orders/:id" element={<OrderPage />} />
          <Route path="shipments" element={<ShipmentsPage />} />
          <Route path="service" element={<ServicePage />} />
          <Route path="fulfilled" element={<FulfilledLinesPage />} />
          <Route path="*" element={<NotFoundPage what="Page" />} />
        </Route>
      </Routes>
    </BrowserRouter>
  );
}

function SignedIn() {
  const { apiKey } = useSession();
  const location = useLocation();
  if (!apiKey) {
    const next = location.pathname + location.search;
    return <Navigate to={`/sign-in?next=${encodeURIComponent(next)}`} replace />;
  }
  return <Layout />;
}

function Layout() {
  const { signOut } = useSession();
  const [{ data, fetching, error }] = useQuery({ query: PartnerQuery });
  const unauthorized = error?.response?.status === 401;
  useEffect(() => {
    if (unauthorized) signOut(); // revoked or expired since sign-in: ask for a key again
  }, [unauthorized, signOut]);
  if (fetching && !data) return <p className="loading">Loading…</p>;
  if (error && !data) return <ErrorNote error={error} />;
  const partner = data ? pickPartner(data) : null;
  if (!partner) {
    return (
      <main className="page">
        <p className="error">This key does not act for one partner organization. The portal is for partners.</p>
        <button onClick={signOut}>Sign out</button>
      </main>
    );
  }
  const supplier = partner.roles.includes("SUPPLIER");
  return (
    <PartnerContext.Provider value={partner}>
      <header className="top">
        <span className="brand">PartnerGraph portal</span>
        <nav>
          <NavLink to="/" end>Organization</NavLink>
          <NavLink to="/orders">Orders</NavLink>
          <NavLink to="/shipments">Shipments</NavLink>
          <NavLink to="/service">Service</NavLink>
          {supplier && <NavLink to="/fulfilled">Fulfilled lines</NavLink>}
        </nav>
        <span className="who" data-testid="partner-name">{partner.name}</span>
        <button className="link" onClick={signOut}>Sign out</button>
      </header>
      <main className="page">
        <Outlet />
      </main>
    </PartnerContext.Provider>
  );
}
