import { useId, type ReactNode } from "react";
import type { FormValues } from "../lib/form";

interface AppointmentFormProps {
  values: FormValues;
  editable: boolean;
  errors: Partial<Record<keyof FormValues, string>>;
  onChange: (values: FormValues) => void;
  onActivity: () => void;
  /** Why the inputs are read-only, read out with each of them. */
  readOnlyReason: string;
}

export function AppointmentForm({ values, editable, errors, onChange, onActivity, readOnlyReason }: AppointmentFormProps) {
  const reasonId = useId();
  const set = (key: keyof FormValues) => (event: { target: { value: string } }) => onChange({ ...values, [key]: event.target.value });
  const common = { disabled: !editable, onFocus: onActivity };
  // The field's error when it has one, else why it is read-only.
  const described = (errorId: string | undefined) => ({
    "aria-describedby": errorId ?? (editable ? undefined : reasonId),
    "aria-invalid": errorId ? true : undefined,
  });
  return (
    <form
      className="grid gap-4 sm:grid-cols-2"
      aria-label="Appointment"
      onSubmit={(event) => event.preventDefault()}
      onKeyDown={onActivity}
    >
      {!editable && (
        <p id={reasonId} className="sr-only">
          {readOnlyReason}
        </p>
      )}
      <Field label="Title" field="title" error={errors.title} className="sm:col-span-2">
        {(id, describedBy) => (
          <input id={id} name="title" type="text" dir="auto" maxLength={200} required value={values.title} onChange={set("title")} {...common} {...described(describedBy)} className={inputClass} />
        )}
      </Field>
      <Field label="Starts" field="startsAt" error={errors.startsAt}>
        {(id, describedBy) => (
          <input id={id} name="startsAt" type="datetime-local" required value={values.startsAt} onChange={set("startsAt")} {...common} {...described(describedBy)} className={inputClass} />
        )}
      </Field>
      <Field label="Ends" field="endsAt" error={errors.endsAt}>
        {(id, describedBy) => (
          <input id={id} name="endsAt" type="datetime-local" required value={values.endsAt} onChange={set("endsAt")} {...common} {...described(describedBy)} className={inputClass} />
        )}
      </Field>
      <Field label="Client" field="client" error={errors.client}>
        {(id, describedBy) => (
          <input id={id} name="client" type="text" dir="auto" maxLength={200} value={values.client} onChange={set("client")} {...common} {...described(describedBy)} className={inputClass} />
        )}
      </Field>
      <Field label="Location" field="location" error={errors.location}>
        {(id, describedBy) => (
          <input id={id} name="location" type="text" dir="auto" maxLength={200} value={values.location} onChange={set("location")} {...common} {...described(describedBy)} className={inputClass} />
        )}
      </Field>
      <Field label="Notes" field="notes" error={errors.notes} className="sm:col-span-2">
        {(id, describedBy) => (
          <textarea id={id} name="notes" dir="auto" rows={5} maxLength={5000} value={values.notes} onChange={set("notes")} {...common} {...described(describedBy)} className={inputClass} />
        )}
      </Field>
    </form>
  );
}

const inputClass =
  "block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500 disabled:cursor-not-allowed disabled:border-slate-200 disabled:bg-slate-100 disabled:text-slate-600 aria-invalid:border-rose-400";

function Field({
  label,
  field,
  error,
  className = "",
  children,
}: {
  label: string;
  /** The field's name, for pointers anchored to it (`lib/pointerAnchor.ts`). */
  field: keyof FormValues;
  error: string | undefined;
  className?: string;
  children: (id: string, describedBy: string | undefined) => ReactNode;
}) {
  const id = useId();
  const errorId = `${id}-error`;
  return (
    <div className={className} data-field={field}>
      <label htmlFor={id} className="mb-1 block text-sm font-medium text-slate-700">
        {label}
      </label>
      {children(id, error ? errorId : undefined)}
      {error && (
        <p id={errorId} className="mt-1 text-xs text-rose-700">
          {error}
        </p>
      )}
    </div>
  );
}
