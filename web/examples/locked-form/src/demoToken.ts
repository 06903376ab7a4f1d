// A stand-in for your sign-in: a dev-mode cluster (`lockd --dev`) issues demo tokens. A real
// app hands `getToken` its identity provider's access token instead.

export async function demoToken(nodes: string[], user: string): Promise<string> {
  const profile = { userId: user, name: user.charAt(0).toUpperCase() + user.slice(1), email: `${user}@example.com`, role: "user" };
  for (const node of nodes) {
    try {
      const answer = await fetch(`${node}/auth/dev-login`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(profile) });
      if (answer.ok) return ((await answer.json()) as { token: string }).token;
    } catch {
      // That node is down: the next one.
    }
  }
  throw new Error("no node gave a demo token");
}
