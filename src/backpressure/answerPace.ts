/**
 * How fast an origin answers: answers counted per PACE_WINDOW_MS, the pace
 * being the time per answer over the last window's worth (the current
 * window and the share of the previous one it has not yet replaced). A
 * moving average of the gaps between answers let one long gap dominate: on
 * a loaded worker, answers arrive in bursts after event-loop stalls, and a
 * single 300 ms gap made a receiver answering every 5 ms look like one
 * answering every 35 ms.
 */
const PACE_WINDOW_MS = 1_000;

export type AnswerPace = {
  /** When the current window began: the first request's start, then every PACE_WINDOW_MS. */
  windowStart: number;
  answers: number;
  /** Answers in the window before; null during the first window. */
  previousAnswers: number | null;
  /** When it first answered: the first window is measured from there. */
  firstAnswerAt: number | null;
  /** When it last answered, or when counting began. */
  answeredAt: number;
};

export function startPace(now: number): AnswerPace {
  return { windowStart: now, answers: 0, previousAnswers: null, firstAnswerAt: null, answeredAt: now };
}

function roll(pace: AnswerPace, now: number): void {
  const windows = Math.floor((now - pace.windowStart) / PACE_WINDOW_MS);
  if (windows < 1) return;
  pace.previousAnswers = windows === 1 ? pace.answers : 0;
  pace.answers = 0;
  pace.windowStart += windows * PACE_WINDOW_MS;
}

export function recordAnswer(pace: AnswerPace, now: number): void {
  roll(pace, now);
  pace.answers += 1;
  pace.answeredAt = now;
  pace.firstAnswerAt ??= now;
}

/**
 * Milliseconds per answer over the last PACE_WINDOW_MS; in the first window,
 * since the first answer (null before it). The time before the first answer
 * is no measure: it includes opening the connections, and a fresh pool of
 * 32 whose first answers came together after 200 ms read as 7 ms an answer,
 * which made an origin answering every 0.4 ms look saturated with a few
 * hundred requests queued.
 */
export function msPerAnswer(pace: AnswerPace, now: number): number | null {
  roll(pace, now);
  if (pace.previousAnswers === null) {
    return pace.firstAnswerAt === null ? null : (now - pace.firstAnswerAt) / pace.answers;
  }
  const answers = pace.answers + pace.previousAnswers * (1 - (now - pace.windowStart) / PACE_WINDOW_MS);
  return answers > 0 ? PACE_WINDOW_MS / answers : Number.POSITIVE_INFINITY;
}
