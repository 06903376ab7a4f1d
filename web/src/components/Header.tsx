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
      {/* One line on a phone: the words that can go, go; the connection's text is cut short. */}
      <div className="mx-auto flex max-w-5xl items-center gap-3 whitespace-nowrap px-4 py-3 sm:gap-4 sm:px-6">
        <a
          href="/"
          className="shrink-0 text-base font-bold tracking-tight text-slate-900"
          onClick={(event) => {
            event.preventDefault();
            navigate("/");
          }}
        >
          lockd <span className="hidden font-normal text-slate-600 sm:inline">appointments</span>
        </a>
        <div className="ml-auto flex min-w-0 items-center gap-3 sm:gap-4">
          <ConnectionIndicator />
          <div className="flex shrink-0 items-center gap-2" data-testid="current-user">
            <Avatar userId={profile.userId} name={profile.name} size="sm" />
            <div className="hidden text-sm leading-tight sm:block">
              <div className="max-w-[12rem] truncate font-medium" dir="auto">
                {profile.name}
              </div>
              <div className="text-xs text-slate-500">{profile.role === "admin" ? "Admin" : "User"}</div>
            </div>
          </div>
          <button type="button" className="shrink-0 text-sm text-slate-600 underline-offset-2 hover:underline" onClick={signOut}>
            Sign out
          </button>
        </div>
      </div>
    </header>
  );
}
