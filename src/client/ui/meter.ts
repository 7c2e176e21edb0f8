/** The call screen's level meters and statistics line. */
import { qualityLine, type LiveView } from '../views/call-view';

const FLOOR_DB = -60;

/** A bar for a level in dBFS: empty at -60 dBFS or below, full at 0. */
export function levelMeter(db: number, width = 24): string {
  const clamped = Number.isFinite(db) ? Math.min(0, Math.max(FLOOR_DB, db)) : FLOOR_DB;
  const filled = Math.round(((clamped - FLOOR_DB) / -FLOOR_DB) * width);
  const label = Number.isFinite(db) && db > FLOOR_DB ? `${db.toFixed(0).padStart(4)} dBFS` : '   - dBFS';
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${label}`;
}

/** The call screen's figures: the network on one line, what playout made of it on the next. */
export function statsLines(v: LiveView): string[] {
  const rtt = v.rttMs === null ? '-' : `${v.rttMs.toFixed(0)} ms`;
  return [
    `RTT ${rtt}   jitter ${v.jitterMs.toFixed(1)} ms   loss ${v.lossPct.toFixed(1)}%   packets ${v.sent} sent / ${v.received} received`,
    `buffer ${v.bufferMs.toFixed(0)} ms (target ${v.targetMs.toFixed(0)})   ${qualityLine(v)}`,
    ...(v.deviceInputMs === null && v.deviceOutputMs === null ? [] : [`devices: capture ${deviceMs(v.deviceInputMs)}, playback ${deviceMs(v.deviceOutputMs)}${v.deviceOutputUnderruns ? ` (ran dry ${v.deviceOutputUnderruns}×)` : ''}`]),
  ];
}

function deviceMs(ms: number | null): string {
  return ms === null ? '-' : `${ms.toFixed(0)} ms`;
}
