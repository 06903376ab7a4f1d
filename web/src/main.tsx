import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MotionConfig } from "motion/react";
import { App } from "./App";
import { ApiError } from "@lockd/client";
import { LockdProvider } from "@lockd/react";
import { useAuth } from "./auth";
import { lockd } from "./lockd";
import "./index.css";

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // Live updates come over the socket; refetching on focus would only add load.
      refetchOnWindowFocus: false,
      retry: (failures, error) => !(error instanceof ApiError && error.status >= 400 && error.status < 500) && failures < 3,
    },
  },
});

// Reads how this node signs people in and picks up a sign-in (the IdP's redirect back, or the
// one the browser's tabs share); a demo sign-in this tab had shows at once meanwhile.
void useAuth.getState().start();

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root");
createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <LockdProvider client={lockd}>
        <MotionConfig reducedMotion="user">
          <App />
        </MotionConfig>
      </LockdProvider>
    </QueryClientProvider>
  </StrictMode>,
);
