/** A line chart as a standalone SVG: deterministic text, readable by browsers and file viewers. */
export interface Series {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

export interface Chart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** log10 y axis: negative values are left out; zeros are drawn on a floor a decade below the data, labelled 0 */
  readonly logY?: boolean;
  readonly series: readonly Series[];
}

const palette = ["#1d4ed8", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2"];
const W = 720,
  H = 420,
  L = 80,
  R = 170,
  T = 48,
  B = 56;
const esc = (s: string) => s.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!);
const fmt = (v: number) =>
  Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-2 && v !== 0) ? v.toExponential(0) : String(Number(v.toPrecision(3)));

export function lineChart(c: Chart): string {
  // on a log axis a zero (a gradient that is exactly 0, as a dead ReLU chain's) has no place:
  // it is drawn on a floor one decade below the smallest value, labelled 0
  const drawn = ([, y]: readonly [number, number]) => Number.isFinite(y) && (!c.logY || y >= 0);
  const zeros = c.logY === true && c.series.some((s) => s.points.some(([, y]) => y === 0));
  const positive = c.series.flatMap((s) => s.points.filter(([, y]) => Number.isFinite(y) && (!c.logY || y > 0)));
  const xs = c.series.flatMap((s) => s.points.filter(drawn).map(([x]) => x));
  const ys = positive.map(([, y]) => (c.logY ? Math.log10(y) : y));
  const x0 = Math.min(...xs),
    x1 = Math.max(...xs);
  let y0 = ys.length ? Math.min(...ys) : -1,
    y1 = ys.length ? Math.max(...ys) : 0;
  if (c.logY) {
    y0 = Math.floor(y0);
    y1 = Math.ceil(y1);
  }
  if (y1 === y0) y1 = y0 + 1;
  const floor = zeros ? y0 - 1 : y0;
  const ty = (y: number) => (!c.logY ? y : y > 0 ? Math.log10(y) : floor);
  const px = (x: number) => L + ((x - x0) / (x1 - x0 || 1)) * (W - L - R);
  const py = (y: number) => T + (1 - (ty(y) - floor) / (y1 - floor)) * (H - T - B);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${esc(c.title)}</text>`,
  ];
  // y grid: every decade on a log axis, five steps otherwise
  const ticks = c.logY
    ? Array.from({ length: y1 - y0 + 1 }, (_, i) => 10 ** (y0 + i))
    : Array.from({ length: 6 }, (_, i) => y0 + ((y1 - y0) * i) / 5);
  const step = c.logY ? Math.max(1, Math.ceil(ticks.length / 12)) : 1;
  ticks.forEach((t, i) => {
    if (i % step) return;
    const y = py(t).toFixed(1);
    out.push(`<line x1="${L}" y1="${y}" x2="${W - R}" y2="${y}" stroke="#e5e7eb"/>`);
    out.push(
      `<text x="${L - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="#374151">${c.logY ? `1e${Math.round(Math.log10(t))}` : fmt(t)}</text>`,
    );
  });
  if (zeros) {
    const y = py(0).toFixed(1);
    out.push(`<line x1="${L}" y1="${y}" x2="${W - R}" y2="${y}" stroke="#9ca3af" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${L - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="#374151">0</text>`);
  }
  // x ticks: whole numbers when the data are (layers, epochs)
  const integral = xs.every(Number.isInteger);
  const xstep = integral ? Math.max(1, Math.ceil((x1 - x0) / 5)) : (x1 - x0) / 5;
  for (let xv = x0; xv <= x1 + 1e-9; xv += xstep || 1) {
    out.push(
      `<text x="${px(xv).toFixed(1)}" y="${H - B + 18}" text-anchor="middle" fill="#374151">${fmt(Number(xv.toFixed(2)))}</text>`,
    );
  }
  out.push(`<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#111827"/>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 14}" text-anchor="middle">${esc(c.xLabel)}</text>`);
  out.push(
    `<text transform="translate(18 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)}</text>`,
  );
  c.series.forEach((s, k) => {
    const color = palette[k % palette.length];
    const points = s.points.filter(drawn);
    const d = points.map(([x, y], i) => `${i ? "L" : "M"}${px(x).toFixed(1)} ${py(y).toFixed(1)}`).join(" ");
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    // each zero also gets a marker, so a series that is 0 throughout is seen on the floor
    for (const [x, y] of points)
      if (c.logY && y === 0)
        out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(0).toFixed(1)}" r="3" fill="${color}"/>`);
    const ly = T + 14 + k * 20;
    out.push(`<line x1="${W - R + 14}" y1="${ly}" x2="${W - R + 38}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    const empty = points.length && points.every(([, y]) => y === 0) ? " (all 0)" : d === "" ? " (no values)" : "";
    out.push(`<text x="${W - R + 44}" y="${ly}" dominant-baseline="middle">${esc(s.name + empty)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
