import { useAuth } from "./auth";
import { matchRoute, navigate, usePath } from "./router";
import { Header } from "./components/Header";
import { SignInPage } from "./pages/SignInPage";
import { ListPage } from "./pages/ListPage";
import { AppointmentPage } from "./pages/AppointmentPage";
import { NewAppointmentPage } from "./pages/NewAppointmentPage";
import { TakeoversPage } from "./pages/TakeoversPage";
import { NoAccessPage } from "./pages/NoAccessPage";

export function App() {
  const auth = useAuth((s) => s.auth);
  const phase = useAuth((s) => s.phase);
  const route = matchRoute(usePath());
  if (phase === "no-access") return <NoAccessPage />;
  if (!auth || route.page === "callback") return <SignInPage />;
  return (
    <div className="min-h-screen">
      <Header auth={auth} />
      <main className="mx-auto max-w-5xl px-4 py-6 sm:px-6">
        {route.page === "list" && <ListPage />}
        {route.page === "new" && <NewAppointmentPage />}
        {route.page === "appointment" && <AppointmentPage key={route.id} id={route.id} />}
        {route.page === "takeovers" && <TakeoversPage />}
        {route.page === "missing" && (
          <div className="rounded-lg border border-slate-200 bg-white p-6">
            <h1 className="text-lg font-semibold">Page not found</h1>
            <button type="button" className="mt-3 text-indigo-700 underline" onClick={() => navigate("/")}>
              Back to the appointments
            </button>
          </div>
        )}
      </main>
    </div>
  );
}
