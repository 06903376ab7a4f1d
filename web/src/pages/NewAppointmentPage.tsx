import { useEffect, useId, useRef } from "react";
import { AppointmentForm } from "../components/AppointmentForm";
import { Button } from "../components/Button";
import { useNewAppointment } from "../editor/useNewAppointment";
import { appointmentPath, navigate } from "../router";

export function NewAppointmentPage() {
  const heading = useRef<HTMLHeadingElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const problemRef = useRef<HTMLParagraphElement>(null);
  const idHint = useId();
  const idError = useId();
  const form = useNewAppointment((created) => navigate(appointmentPath(created.id)));
  const { refusal, create } = form;

  useEffect(() => heading.current?.focus(), []);
  // A refusal: focus goes to the first field in error, else to the problem itself.
  useEffect(() => {
    if (refusal.count === 0) return;
    const field = refusal.field ? box.current?.querySelector<HTMLElement>(`[name="${refusal.field}"]`) : null;
    (field ?? problemRef.current)?.focus();
  }, [refusal]);
  // Ctrl/Cmd+S creates, as it saves in the editor.
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key.toLowerCase() !== "s" || !(event.ctrlKey || event.metaKey) || event.altKey) return;
      event.preventDefault();
      void create();
    };
    window.addEventListener("keydown", onKeyDown);
    return () => window.removeEventListener("keydown", onKeyDown);
  }, [create]);

  return (
    <section aria-labelledby="new-title" className="space-y-5">
      <div>
        <button type="button" className="text-sm text-indigo-700 hover:underline" onClick={() => navigate("/")}>
          ← All appointments
        </button>
        <h1 id="new-title" ref={heading} tabIndex={-1} className="mt-1 text-2xl font-semibold tracking-tight">
          New appointment
        </h1>
        <p className="text-sm text-slate-600">What you type is kept in this tab until it is created.</p>
      </div>

      <div ref={box} className="space-y-4 rounded-xl border border-indigo-300 bg-white p-5 shadow-sm" data-testid="new-form">
        <AppointmentForm values={form.values} editable errors={form.errors} onChange={form.setValues} onActivity={() => {}} readOnlyReason="" />
        <div>
          <label htmlFor="new-id" className="mb-1 block text-sm font-medium text-slate-700">
            ID (optional)
          </label>
          <input
            id="new-id"
            name="id"
            type="text"
            maxLength={64}
            autoComplete="off"
            spellCheck={false}
            value={form.id}
            onChange={(event) => form.setId(event.target.value)}
            aria-invalid={form.errors.id ? true : undefined}
            aria-describedby={form.errors.id ? idError : idHint}
            className="block w-full rounded-md border border-slate-300 bg-white px-3 py-2 font-mono text-sm shadow-sm focus:border-indigo-500 aria-invalid:border-rose-400 sm:w-80"
          />
          {form.errors.id ? (
            <p id={idError} className="mt-1 text-xs text-rose-700">
              {form.errors.id}
            </p>
          ) : (
            <p id={idHint} className="mt-1 text-xs text-slate-600">
              Letters, digits and - _ . @ : · left empty, one is made up.
            </p>
          )}
        </div>
      </div>

      {form.problem && (
        <p ref={problemRef} tabIndex={-1} role="alert" className="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-800" data-testid="create-problem">
          {form.problem}
        </p>
      )}

      <div className="flex flex-wrap items-center gap-2">
        <Button variant="primary" busy={form.busy} onClick={() => void form.create()}>
          Create appointment
        </Button>
        <Button variant="ghost" disabled={form.busy} onClick={form.discard}>
          Clear the form
        </Button>
      </div>
    </section>
  );
}
