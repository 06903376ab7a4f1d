import type { Auth } from "../api/session";
import { useAuth } from "../auth";
import { navigate } from "../router";
import { Avatar } from "./Avatar";
import { ConnectionIndicator } from "./ConnectionIndicator";

export function Header({ auth }: { auth: Auth }) {
  const signOut = useAuth((s) => s.signOut);
  const { profile } = auth;
  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex max-w-5xl items-center gap-4 px-4 py-3 sm:px-6">
        <a
          href="/"
          className="text-base font-bold tracking-tight text-slate-900"
          onClick={(event) => {
            event.preventDefault();
            navigate("/");
          }}
        >
          lockd <span className="font-normal text-slate-500">appointments</span>
        </a>
        <div className="ml-auto flex items-center gap-4">
          <ConnectionIndicator />
          <div className="flex items-center gap-2" data-testid="current-user">
            <Avatar userId={profile.userId} name={profile.name} size="sm" />
            <div className="hidden text-sm leading-tight sm:block">
              <div className="font-medium">{profile.name}</div>
              <div className="text-xs text-slate-500">{profile.role === "admin" ? "Admin" : "User"}</div>
            </div>
          </div>
          <button type="button" className="text-sm text-slate-600 underline-offset-2 hover:underline" onClick={signOut}>
            Sign out
          </button>
        </div>
      </div>
    </header>
  );
}
