// A save met a newer version. Load theirs (mine kept as a draft), or keep mine: only the
// fields I changed go over theirs; a field we both changed is shown side by side to choose.

import type { Conflict } from "../editor/useEditor";
import { FIELD_LABELS, type FieldName } from "../editor/editForm";
import type { FormValues } from "../lib/form";
import { Button } from "./Button";


interface ConflictPanelProps {
  conflict: Conflict;
  /** Who saved their version, by name. */
  savedBy: string;
  values: FormValues;
  busy: boolean;
  onLoadLatest: () => void;
  onKeepMine: () => void;
  onChoose: (field: FieldName, value: string) => void;
  onSaveChosen: () => void;
}

export function ConflictPanel({ conflict, savedBy, values, busy, onLoadLatest, onKeepMine, onChoose, onSaveChosen }: ConflictPanelProps) {
  const { theirs, clashes } = conflict;
  return (
    <div role="alert" className="rounded-xl border border-rose-200 bg-rose-50 p-4 text-sm text-rose-900" data-testid="conflict">
      <p className="font-semibold">Someone saved a newer version</p>
      {clashes === null ? (
        <>
          <p className="mt-1">
            <bdi>{savedBy}</bdi> saved version {theirs.version} after the version your changes start from. Load the latest version
            (your changes are kept as a draft), or keep your changes: only the fields you changed go over theirs.
          </p>
          <div className="mt-3 flex flex-wrap gap-2">
            <Button variant="primary" busy={busy} onClick={onLoadLatest}>
              Load the latest version
            </Button>
            <Button onClick={onKeepMine}>Keep mine and save again</Button>
          </div>
        </>
      ) : (
        <>
          <p className="mt-1">
            You and <bdi>{savedBy}</bdi> both changed {clashes.length === 1 ? "this field" : "these fields"}. Choose which to keep, then save.
          </p>
          <ul className="mt-3 space-y-3" data-testid="clashes">
            {clashes.map((clash) => (
              <li key={clash.field} className="rounded-lg border border-rose-200 bg-white p-3" data-testid={`clash-${clash.field}`}>
                <p className="font-medium text-slate-800">{FIELD_LABELS[clash.field]}</p>
                <div className="mt-2 grid gap-2 sm:grid-cols-2">
                  {(
                    [
                      ["Yours", clash.mine],
                      [`${savedBy}'s`, clash.theirs],
                    ] as const
                  ).map(([who, value]) => (
                    <label key={who} className="flex items-start gap-2 rounded-md border border-slate-200 p-2 text-slate-800">
                      <input
                        type="radio"
                        name={`clash-${clash.field}`}
                        checked={values[clash.field] === value}
                        onChange={() => onChoose(clash.field, value)}
                        className="mt-1"
                      />
                      <span className="min-w-0">
                        <span className="block text-xs font-semibold text-slate-600">{who}</span>
                        <span className="block whitespace-pre-wrap break-words" dir="auto">
                          {value || "(empty)"}
                        </span>
                      </span>
                    </label>
                  ))}
                </div>
              </li>
            ))}
          </ul>
          <Button className="mt-3" variant="primary" busy={busy} onClick={onSaveChosen}>
            Save my choices
          </Button>
        </>
      )}
    </div>
  );
}
