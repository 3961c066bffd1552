// axe-core (npm) in the page, with the WCAG 2.2 AA rule tags. axe reaches into open shadow
// roots; the overlay's is open, which `overlay()` reports as `mode`.
import { AXE } from "./paths.mjs";

export const WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

/**
 * Runs axe on the whole document. Injected with addScriptTag, so use it on pages without a
 * CSP. Returns the violations (rule, impact, targets) and how many checked nodes were inside
 * a shadow root (axe writes their targets as nested arrays), to prove it looked inside.
 */
export async function runAxe(page) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.addScriptTag({ path: AXE });
  return page.evaluate(async (tags) => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: tags } });
    const inShadow = (nodes) => nodes.filter((n) => Array.isArray(n.target[0])).length;
    return {
      violations: r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: JSON.stringify(n.target), why: n.failureSummary })) })),
      shadowNodesChecked: [...r.passes, ...r.violations, ...r.incomplete].reduce((sum, rule) => sum + inShadow(rule.nodes), 0),
      incomplete: r.incomplete.map((v) => `${v.id} (${v.nodes.length})`),
    };
  }, WCAG_TAGS);
}

/** Violations as readable lines for an assertion message. */
export const describe = (violations) => violations.map((v) => `${v.id} [${v.impact}] ${v.help}: ${v.nodes.map((n) => `${n.target} — ${n.why}`).join("; ")}`).join("\n");
