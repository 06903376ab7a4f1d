import { useEffect, useState, type RefObject } from "react";
import { AnimatePresence } from "motion/react";
import { useFollowingPointers } from "@lockd/react";
import { fieldRects, fromWire, type Rect } from "../lib/pointerAnchor";
import { FollowingPointer } from "./FollowingPointer";

/** Others' pointers over the form, each on the field it points at in their layout
 * (`lib/pointerAnchor.ts`), clipped to the form so none can widen the page. The pointers and
 * their idleness are @lockd/react's; the look (Motion springs) and the anchoring are the app's. */
export function PointerLayer({ appointmentId, formBox }: { appointmentId: string; formBox: RefObject<HTMLDivElement | null> }) {
  const pointers = useFollowingPointers(appointmentId);
  const layout = useFormLayout(formBox);
  return (
    <div className="pointer-events-none absolute inset-0 overflow-hidden rounded-xl" aria-hidden="true" data-testid="pointer-layer">
      <AnimatePresence>
        {layout &&
          pointers.map((p) => {
            const at = fromWire(p, layout.fields, layout.form);
            if (!at) return null;
            return <FollowingPointer key={p.sessionId} userId={p.userId} name={p.name} x={at.x} y={at.y} idle={p.idle} />;
          })}
      </AnimatePresence>
    </div>
  );
}

type Layout = { fields: ReturnType<typeof fieldRects>; form: Rect };

/** Where this tab's fields are within the form (relative to its corner), measured again
 * whenever the form's size changes (a resize, the one-/two-column breakpoint, an error line). */
function useFormLayout(formBox: RefObject<HTMLDivElement | null>): Layout | null {
  const [layout, setLayout] = useState<Layout | null>(null);
  useEffect(() => {
    const box = formBox.current;
    if (!box) return;
    const measure = () => {
      const form = box.getBoundingClientRect();
      const fields: Layout["fields"] = {};
      for (const [name, rect] of Object.entries(fieldRects(box))) {
        fields[name as keyof Layout["fields"]] = { left: rect.left - form.left, top: rect.top - form.top, width: rect.width, height: rect.height };
      }
      setLayout({ fields, form: { left: 0, top: 0, width: form.width, height: form.height } });
    };
    const observer = new ResizeObserver(measure);
    observer.observe(box);
    return () => observer.disconnect();
  }, [formBox]);
  return layout;
}
