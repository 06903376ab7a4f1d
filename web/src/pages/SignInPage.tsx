import { useState } from "react";
import { describeError } from "../api/client";
import { DEMO_PROFILES, type DemoProfile } from "../api/session";
import { useAuth } from "../auth";
import { Avatar } from "../components/Avatar";

export function SignInPage() {
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
    <main className="mx-auto flex min-h-screen max-w-lg flex-col justify-center px-4 py-10">
      <h1 className="text-2xl font-bold tracking-tight">Sign in to lockd</h1>
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
    </main>
  );
}
