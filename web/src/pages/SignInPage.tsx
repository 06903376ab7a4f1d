import { useState } from "react";
import { describeError } from "@lockd/client";
import { idpHost, signInChoice } from "../api/authConfig";
import { DEMO_PROFILES, type DemoProfile } from "../api/session";
import { useAuth } from "../auth";
import { Avatar } from "../components/Avatar";
import { Button } from "../components/Button";

/** The way in: the organisation's identity provider first, then the demo picker (dev mode), as
 * the node's `/auth/config` offers them; or a plain statement that sign-in is not set up. */
export function SignInPage() {
  const config = useAuth((s) => s.config);
  const configError = useAuth((s) => s.configError);
  const phase = useAuth((s) => s.phase);
  const notice = useAuth((s) => s.notice);
  const retryConfig = useAuth((s) => s.retryConfig);
  const [retrying, setRetrying] = useState(false);

  let body;
  if (!config && configError) {
    body = (
      <div role="alert" className="mt-6 rounded-md bg-rose-50 px-3 py-3 text-sm text-rose-800">
        <p>Could not find out how to sign in: {configError}</p>
        <Button
          className="mt-3"
          busy={retrying}
          onClick={() => {
            setRetrying(true);
            void retryConfig().finally(() => setRetrying(false));
          }}
        >
          Try again
        </Button>
      </div>
    );
  } else if (!config || phase === "starting") {
    body = <p className="mt-6 text-sm text-slate-500">Signing in…</p>;
  } else {
    const choice = signInChoice(config);
    body =
      choice.kind === "not-configured" ? (
        <p role="alert" className="mt-6 rounded-md bg-amber-50 px-3 py-3 text-sm text-amber-900" data-testid="sign-in-not-configured">
          Sign-in is not configured on this server: it names no identity provider and demo sign-in is off. Ask whoever runs
          lockd to set <code>--oidc-issuer</code> (or start the nodes with <code>--dev</code> to try it out).
        </p>
      ) : (
        <>
          {choice.idp && <IdpSignIn host={idpHost(choice.idp.issuer)} />}
          {choice.devPicker && <DemoPicker withIdp={choice.idp !== null} />}
        </>
      );
  }

  return (
    <main className="mx-auto flex min-h-screen max-w-lg flex-col justify-center px-4 py-10">
      <h1 className="text-2xl font-bold tracking-tight">Sign in to lockd</h1>
      {notice && (
        <p role="status" className="mt-4 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="sign-in-notice">
          {notice}
        </p>
      )}
      {body}
    </main>
  );
}

function IdpSignIn({ host }: { host: string }) {
  const signInWithIdp = useAuth((s) => s.signInWithIdp);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <section className="mt-6" aria-label="Your organisation's sign-in">
      <Button
        variant="primary"
        className="w-full py-3 text-base"
        busy={busy}
        onClick={() => {
          setBusy(true);
          setError(null);
          // On success the page goes to the identity provider; it stays busy until then.
          signInWithIdp().catch((e: unknown) => {
            setBusy(false);
            // The IdP's discovery document unreachable, or a browser without Web Crypto (PKCE
            // needs it: an https:// address, or http://localhost).
            setError(`The sign-in could not start: ${e instanceof Error ? e.message : String(e)}`);
          });
        }}
      >
        Sign in with your organisation
      </Button>
      <p className="mt-2 text-center text-xs text-slate-500" data-testid="idp-host">
        with {host}
      </p>
      {error && (
        <p role="alert" className="mt-3 rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-800">
          {error}
        </p>
      )}
    </section>
  );
}

function DemoPicker({ withIdp }: { withIdp: boolean }) {
  const signIn = useAuth((s) => s.signIn);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const choose = async (profile: DemoProfile) => {
    setBusy(profile.userId);
    setError(null);
    try {
      await signIn(profile);
    } catch (e) {
      setError(
        e instanceof Error && "code" in e && (e as { code: string }).code === "not_found"
          ? "Demo sign-in is off on this cluster (start the nodes with --dev)."
          : describeError(e),
      );
    } finally {
      setBusy(null);
    }
  };
  return (
    <section className={withIdp ? "mt-8 border-t border-slate-200 pt-6" : undefined}>
      {withIdp && <h2 className="text-sm font-semibold text-slate-700">Or a demo person</h2>}
      <p className="mt-1 text-sm text-slate-600">
        Demo mode: pick a person. New tabs open as the person who signed in last; a tab signed in as someone else stays
        that person, so you can be two people side by side.
      </p>
      <ul className="mt-6 space-y-2" aria-label="Demo users">
        {DEMO_PROFILES.map((profile) => (
          <li key={profile.userId}>
            <button
              type="button"
              onClick={() => void choose(profile)}
              disabled={busy !== null}
              className="flex w-full items-center gap-3 rounded-lg border border-slate-200 bg-white px-4 py-3 text-left shadow-sm transition hover:border-indigo-300 hover:shadow disabled:opacity-60"
            >
              <Avatar userId={profile.userId} name={profile.name} />
              <span className="flex-1">
                <span className="block font-medium">{profile.name}</span>
                <span className="block text-xs text-slate-500">{profile.email}</span>
              </span>
              <span
                className={`rounded-full px-2 py-0.5 text-xs font-medium ${profile.role === "admin" ? "bg-amber-100 text-amber-800" : "bg-slate-100 text-slate-700"}`}
              >
                {profile.role === "admin" ? "Admin" : "User"}
              </span>
              {busy === profile.userId && <span className="sr-only">Signing in…</span>}
            </button>
          </li>
        ))}
      </ul>
      {error && (
        <p role="alert" className="mt-4 rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-800">
          {error}
        </p>
      )}
    </section>
  );
}
