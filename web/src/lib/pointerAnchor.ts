// Pointers anchored to the field under them. The wire carries a pointer as {x, y} in 0..1
// (the server accepts nothing else), so the sender writes the field and the position within
// it into that pair: each field owns a fixed cell of the unit square (its place in the
// two-column desktop layout), and the position within the field maps to the same position
// within its cell. The receiver finds the cell and maps back onto its own field, wherever its
// layout put that field: one column on a phone, two on a desktop. A frame from an app that
// sends plain fractions of the form lands close by, since the cells follow the desktop layout.

import type { FormValues } from "./form";

type FieldName = keyof FormValues;

export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface Point {
  x: number;
  y: number;
}

/** Each field's cell of the unit square; the cells tile it, so every point has one field. */
export const CELLS: Readonly<Record<FieldName, Rect>> = {
  title: { left: 0, top: 0, width: 1, height: 0.2 },
  startsAt: { left: 0, top: 0.2, width: 0.5, height: 0.2 },
  endsAt: { left: 0.5, top: 0.2, width: 0.5, height: 0.2 },
  client: { left: 0, top: 0.4, width: 0.5, height: 0.2 },
  location: { left: 0.5, top: 0.4, width: 0.5, height: 0.2 },
  notes: { left: 0, top: 0.6, width: 1, height: 0.4 },
};

const FIELDS = Object.keys(CELLS) as FieldName[];
const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

function distance(rect: Rect, p: Point): number {
  const dx = Math.max(rect.left - p.x, 0, p.x - (rect.left + rect.width));
  const dy = Math.max(rect.top - p.y, 0, p.y - (rect.top + rect.height));
  return Math.hypot(dx, dy);
}

/** A fraction within a cell that stays inside it on the wire: a cell's far edge belongs to the
 * next cell, and the throttle rounds positions to 1e-4 (`pointerThrottle.ts`). */
function inCell(fraction: number, cellEnd: number): number {
  const f = clamp01(fraction);
  return cellEnd >= 1 ? f : Math.min(f, 0.995);
}

/** The wire position for a pointer at `point` (page pixels), given where this tab's fields
 * are; null when no field is laid out. A point between fields belongs to the nearest. */
export function toWire(point: Point, fields: Partial<Record<FieldName, Rect>>): Point | null {
  let best: { name: FieldName; rect: Rect; d: number } | null = null;
  for (const name of FIELDS) {
    const rect = fields[name];
    if (!rect || rect.width <= 0 || rect.height <= 0) continue;
    const d = distance(rect, point);
    if (!best || d < best.d) best = { name, rect, d };
  }
  if (!best) return null;
  const cell = CELLS[best.name];
  const fx = inCell((point.x - best.rect.left) / best.rect.width, cell.left + cell.width);
  const fy = inCell((point.y - best.rect.top) / best.rect.height, cell.top + cell.height);
  return { x: cell.left + fx * cell.width, y: cell.top + fy * cell.height };
}

/** The field whose cell holds the wire position. */
export function cellOf(wire: Point): FieldName {
  const x = clamp01(wire.x);
  const y = clamp01(wire.y);
  const inside = (c: Rect) => x >= c.left && y >= c.top && (x < c.left + c.width || c.left + c.width >= 1) && (y < c.top + c.height || c.top + c.height >= 1);
  return FIELDS.find((name) => inside(CELLS[name])) ?? "notes";
}

/** Where a wire position lands on this tab, as fractions of the form's box (clamped to it,
 * so a pointer never draws outside the form); null when its field is not laid out. */
export function fromWire(wire: Point, fields: Partial<Record<FieldName, Rect>>, form: Rect): Point | null {
  const name = cellOf(wire);
  const cell = CELLS[name];
  const rect = fields[name];
  if (!rect || form.width <= 0 || form.height <= 0) return null;
  const fx = clamp01((clamp01(wire.x) - cell.left) / cell.width);
  const fy = clamp01((clamp01(wire.y) - cell.top) / cell.height);
  return {
    x: clamp01((rect.left + fx * rect.width - form.left) / form.width),
    y: clamp01((rect.top + fy * rect.height - form.top) / form.height),
  };
}

// DOM adapters: the fields are the elements marked `data-field` inside the form's box.

export function fieldRects(formBox: HTMLElement): Partial<Record<FieldName, Rect>> {
  const rects: Partial<Record<FieldName, Rect>> = {};
  for (const element of formBox.querySelectorAll<HTMLElement>("[data-field]")) {
    const name = element.dataset.field as FieldName | undefined;
    if (name && name in CELLS) rects[name] = element.getBoundingClientRect();
  }
  return rects;
}

/** The wire position of a pointer at (clientX, clientY) over `formBox`. */
export function anchorOf(formBox: HTMLElement, clientX: number, clientY: number): Point | null {
  return toWire({ x: clientX, y: clientY }, fieldRects(formBox));
}
