import type { DayOption, ListFilter } from "../lib/listFilter";

interface ListFilterBarProps {
  filter: ListFilter;
  days: DayOption[];
  shown: number;
  total: number;
  onChange: (filter: ListFilter) => void;
}

/** Search and day filter above the list, and how many match (read out as it changes). */
export function ListFilterBar({ filter, days, shown, total, onChange }: ListFilterBarProps) {
  return (
    <div role="search" aria-label="Find appointments" className="mt-5 flex flex-wrap items-end gap-3">
      <div className="min-w-0 flex-1 basis-56">
        <label htmlFor="list-search" className="mb-1 block text-sm font-medium text-slate-700">
          Search
        </label>
        <input
          id="list-search"
          type="search"
          dir="auto"
          value={filter.query}
          onChange={(event) => onChange({ ...filter, query: event.target.value })}
          placeholder="Title, client or location"
          className="block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500"
        />
      </div>
      <div className="basis-40">
        <label htmlFor="list-day" className="mb-1 block text-sm font-medium text-slate-700">
          Day
        </label>
        <select
          id="list-day"
          value={filter.day}
          onChange={(event) => onChange({ ...filter, day: event.target.value })}
          className="block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500"
        >
          <option value="">All days</option>
          {/* A day chosen before its last appointment moved stays offered, with none. */}
          {filter.day && !days.some((d) => d.day === filter.day) && <option value={filter.day}>{filter.day} (0)</option>}
          {days.map((d) => (
            <option key={d.day} value={d.day}>
              {d.label} ({d.count})
            </option>
          ))}
        </select>
      </div>
      <p className="basis-full text-sm text-slate-600" aria-live="polite" data-testid="list-count">
        {shown === total ? `${total} appointment${total === 1 ? "" : "s"}` : `${shown} of ${total} appointments`}
      </p>
    </div>
  );
}
