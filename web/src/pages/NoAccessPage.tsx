import { useAuth } from "../auth";
import { Button } from "../components/Button";

/** The identity provider signed the person in, but lockd lets them not in (no lockd role). */
export function NoAccessPage() {
  const noAccess = useAuth((s) => s.noAccess);
  const signOut = useAuth((s) => s.signOut);
  return (
    <main className="mx-auto flex min-h-screen max-w-lg flex-col justify-center px-4 py-10" data-testid="no-access">
      <h1 className="text-2xl font-bold tracking-tight">Your account has no access to lockd</h1>
      {noAccess && (noAccess.name || noAccess.email) && (
        <p className="mt-3 text-sm text-slate-700">
          You are signed in as <bdi className="font-medium">{noAccess.name}</bdi>
          {noAccess.email && (
            <>
              {" "}
              (<bdi>{noAccess.email}</bdi>)
            </>
          )}
          , but this account has no role that lets it use lockd. Ask whoever manages your organisation&apos;s accounts for access,
          or sign out and sign in with another account.
        </p>
      )}
      {noAccess?.detail && <p className="mt-2 text-xs text-slate-500">The server said: {noAccess.detail}</p>}
      <div className="mt-6">
        <Button variant="primary" onClick={signOut}>
          Sign out
        </Button>
      </div>
    </main>
  );
}
