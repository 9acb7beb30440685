// The image's HEALTHCHECK: healthy when /healthz answers 200 on PORT (api, start) or on
// WORKER_PORT (a worker-only process), whichever role the container runs.
const ports = [process.env.PORT ?? "4000", process.env.WORKER_PORT ?? "4001"];
const healthy = async (port) => {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(4_000) }).catch(
    () => null,
  );
  return res?.status === 200;
};
const answers = await Promise.all(ports.map(healthy));
process.exit(answers.some(Boolean) ? 0 : 1);
