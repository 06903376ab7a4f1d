import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createLockdClient } from "@lockd/client";
import { LockdProvider } from "@lockd/react";
import { LockedForm } from "./LockedForm";
import { demoToken } from "./demoToken";

// ?nodes=http://127.0.0.1:8081,http://127.0.0.1:8082 (the cluster's nodes, each started with
// --cors-origins naming this page's origin), ?user=alice, ?appointment=demo-1.
const params = new URLSearchParams(window.location.search);
const nodes = (params.get("nodes") ?? window.location.origin).split(",");
const user = params.get("user") ?? "alice";
const token = demoToken(nodes, user);

const client = createLockdClient({ nodes, getToken: () => token });

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root");
createRoot(root).render(
  <StrictMode>
    <LockdProvider client={client}>
      <LockedForm id={params.get("appointment") ?? "demo-1"} />
    </LockdProvider>
  </StrictMode>,
);
