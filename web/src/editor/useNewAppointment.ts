// The "New appointment" form: what the person types, kept in this tab (a reload or an error
// never loses it), checked before sending, and sent so that a retry never creates it twice.
// A refusal is told at the field it is about, with the text left as typed.

import { useEffect, useRef, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { ApiError, describeError, idempotencyKey, type Appointment, type AppointmentWithLock, type NewAppointment } from "@lockd/client";
import { queryKeys } from "../api/queryKeys";
import { lockd } from "../lockd";
import { changedFields } from "./editForm";
import { fieldOfProblem, newAppointmentValues, toFields, validateForm, validateId, type FormValues } from "../lib/form";

export type NewField = keyof FormValues | "id";
export type NewErrors = Partial<Record<NewField, string>>;

/** The order the fields are on screen: focus goes to the first one in error. */
export const NEW_FIELD_ORDER: readonly NewField[] = ["title", "startsAt", "endsAt", "client", "location", "notes", "id"];

interface Typed {
  values: FormValues;
  id: string;
}

const STORAGE_KEY = "lockd.new-appointment";

function loadTyped(): Typed | null {
  try {
    const parsed = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "null") as Partial<Typed> | null;
    return parsed?.values && typeof parsed.id === "string" ? { values: parsed.values, id: parsed.id } : null;
  } catch {
    return null;
  }
}

function keepTyped(typed: Typed | null): void {
  try {
    if (typed) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(typed));
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Storage refused: the text stays on screen, only a reload would lose it.
  }
}

/** The problem of a refused create, in words and at the field it is about. */
export function problemOf(error: unknown, id: string): { field: NewField | null; message: string } {
  if (error instanceof ApiError && error.code === "already_exists") {
    return { field: "id", message: `An appointment with the ID “${id}” exists already. Choose another ID, or leave it empty.` };
  }
  if (error instanceof ApiError && error.code === "invalid_input" && error.problem.detail) {
    const field = fieldOfProblem(error.problem.detail);
    return { field, message: field ? `The server refused it: ${error.problem.detail}.` : describeError(error) };
  }
  return { field: null, message: describeError(error) };
}

export function useNewAppointment(onCreated: (appointment: Appointment) => void) {
  const queryClient = useQueryClient();
  const [typed, setTyped] = useState<Typed>(() => loadTyped() ?? { values: newAppointmentValues(new Date()), id: "" });
  const [errors, setErrors] = useState<NewErrors>({});
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  /** Each refusal, with the first field in error (screen order) for the page to focus. */
  const [refusal, setRefusal] = useState<{ count: number; field: NewField | null }>({ count: 0, field: null });
  const refuse = (found: NewErrors, message: string) => {
    setErrors(found);
    setProblem(message);
    setRefusal((r) => ({ count: r.count + 1, field: NEW_FIELD_ORDER.find((f) => found[f] !== undefined) ?? null }));
  };
  // One key per body: a retry of the same text is the same request.
  const [sent, setSent] = useState<{ body: string; key: string } | null>(null);

  useEffect(() => keepTyped(typed), [typed]);

  /** The person typed. A field's error is checked again as it changes, and goes once fixed
   * (a server's refusal of it goes at its first change). */
  const setValues = (values: FormValues) => {
    setTyped((current) => ({ ...current, values }));
    setErrors((current) => recheck(current, changedFields(typed.values, values), validateForm(values)));
  };
  const setId = (id: string) => {
    setTyped((current) => ({ ...current, id }));
    const idError = validateId(id.trim());
    setErrors((current) => recheck(current, id === typed.id ? [] : ["id"], idError ? { id: idError } : {}));
  };

  // One create at a time (a second Ctrl+S while the first is on its way would otherwise be
  // sent before the first one's key is remembered).
  const inFlight = useRef(false);
  const create = async () => {
    if (inFlight.current) return;
    const found: NewErrors = { ...validateForm(typed.values) };
    const idError = validateId(typed.id.trim());
    if (idError) found.id = idError;
    if (Object.keys(found).length > 0) {
      refuse(found, "Not created yet: check the highlighted fields.");
      return;
    }
    const body: NewAppointment = { ...toFields(typed.values), ...(typed.id.trim() ? { id: typed.id.trim() } : {}) };
    const json = JSON.stringify(body);
    const key = sent?.body === json ? sent.key : idempotencyKey();
    setSent({ body: json, key });
    inFlight.current = true;
    setBusy(true);
    setProblem(null);
    try {
      const created = await lockd.api.createAppointment(body, key);
      keepTyped(null);
      const row: AppointmentWithLock = { ...created, lock: null, queueLength: 0, viewers: 0 };
      queryClient.setQueryData(queryKeys.appointment(created.id), row);
      void queryClient.invalidateQueries({ queryKey: queryKeys.appointments() });
      onCreated(created);
    } catch (e) {
      const { field, message } = problemOf(e, typed.id.trim());
      refuse(field ? { [field]: message } : {}, `Not created: ${message}`);
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  };

  const discard = () => {
    keepTyped(null);
    setTyped({ values: newAppointmentValues(new Date()), id: "" });
    setErrors({});
    setProblem(null);
  };

  return { values: typed.values, id: typed.id, errors, problem, busy, refusal, setValues, setId, create, discard };
}

/** `errors` with each of the `changed` fields that had one judged again by `now`. */
function recheck(errors: NewErrors, changed: readonly NewField[], now: NewErrors): NewErrors {
  const next: NewErrors = {};
  for (const [name, message] of Object.entries(errors) as [NewField, string][]) {
    const judged = changed.includes(name) ? now[name] : message;
    if (judged !== undefined) next[name] = judged;
  }
  return next;
}
