import { createReadStream, type Stats } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { createGzip } from "node:zlib";
import type { Config } from "../config.ts";
import type { Logger } from "../logger.ts";
import { projectPath } from "../paths.ts";

/** Vite names every file under assets/ by its content hash: a changed file gets a new name. */
const IMMUTABLE = "public, max-age=31536000, immutable";
/** index.html and unhashed files: browsers revalidate each time, so a new build is seen at once. */
const REVALIDATE = "no-cache";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".webmanifest": "application/manifest+json",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".wasm": "application/wasm",
};
const COMPRESSIBLE = new Set([
  ".html",
  ".js",
  ".mjs",
  ".css",
  ".json",
  ".map",
  ".webmanifest",
  ".txt",
  ".svg",
]);

/** Paths the api answers itself; the web app never shadows them. */
const API_PATHS = ["/graphql", "/healthz", "/readyz", "/metrics", "/inbound"];

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hookpost</title></head>
<body><h1>Hookpost</h1>
<p>The web app is not built. Run <code>npm run build</code>, then reload this page.</p>
<p>The GraphQL API and GraphiQL are at <a href="/graphql">/graphql</a>.</p></body></html>
`;

const isApiPath = (path: string) => API_PATHS.some((api) => path === api || path.startsWith(`${api}/`));

async function fileAt(path: string): Promise<Stats | null> {
  try {
    const stats = await stat(path);
    return stats.isFile() ? stats : null;
  } catch {
    return null;
  }
}

function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  stats: Stats,
  baseHeaders: Record<string, string>,
) {
  const type = extname(path).toLowerCase();
  const etag = `W/"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
  const headers: Record<string, string> = {
    ...baseHeaders,
    "content-type": CONTENT_TYPES[type] ?? "application/octet-stream",
    etag,
  };
  if (req.headers["if-none-match"] === etag) {
    res.writeHead(304, headers).end();
    return;
  }
  const gzip = COMPRESSIBLE.has(type) && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
  if (COMPRESSIBLE.has(type)) headers.vary = "accept-encoding";
  if (gzip) headers["content-encoding"] = "gzip";
  else headers["content-length"] = String(stats.size);
  res.writeHead(200, headers);
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  const stream = createReadStream(path);
  stream.on("error", () => res.destroy());
  (gzip ? stream.pipe(createGzip()) : stream).pipe(res);
}

/**
 * Serves the built web app (web/dist, or WEB_DIST_DIR) on GET and HEAD of
 * every path the api does not answer itself: its files, and index.html for
 * any other path so the app's own routes load. Without a build, a page that
 * says how to make one. Returns false for requests it leaves to others.
 */
export function webApp(http: Pick<Config["http"], "webDistDir" | "webFrameAncestors">, logger: Logger) {
  const root = resolve(http.webDistDir ?? fileURLToPath(projectPath("web/dist/")));
  const indexPath = join(root, "index.html");
  // Never sniffed; framed only where WEB_FRAME_ANCESTORS allows (anywhere by default: the portal is embeddable).
  const commonHeaders: Record<string, string> = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    ...(http.webFrameAncestors
      ? { "content-security-policy": `frame-ancestors ${http.webFrameAncestors}` }
      : {}),
  };
  const cached = (cacheControl: string) => ({ ...commonHeaders, "cache-control": cacheControl });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      res.writeHead(400, commonHeaders).end();
      return;
    }
    const file = resolve(root, `.${path}`);
    const stats = file.startsWith(`${root}${sep}`) ? await fileAt(file) : null;
    if (stats) {
      sendFile(req, res, file, stats, cached(path.startsWith("/assets/") ? IMMUTABLE : REVALIDATE));
      return;
    }
    // A missing file (a stale hashed asset, a typo) is a 404, never index.html served as script.
    if (extname(path) !== "") {
      res
        .writeHead(404, { ...commonHeaders, "content-type": "text/plain; charset=utf-8" })
        .end("not found\n");
      return;
    }
    const index = await fileAt(indexPath);
    if (index) {
      sendFile(req, res, indexPath, index, cached(REVALIDATE));
      return;
    }
    res.writeHead(200, { ...cached(REVALIDATE), "content-type": CONTENT_TYPES[".html"] });
    res.end(req.method === "HEAD" ? undefined : NOT_BUILT_PAGE);
  }

  return {
    /** Answers the request if it is the web app's; false if it is the api's. */
    handle(req: IncomingMessage, res: ServerResponse): boolean {
      const path = (req.url ?? "/").split("?")[0] ?? "/";
      if ((req.method !== "GET" && req.method !== "HEAD") || isApiPath(path)) return false;
      serve(req, res).catch((err: Error) => {
        logger.error({ err }, "web app request failed");
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
      return true;
    },
  };
}

export type WebApp = ReturnType<typeof webApp>;
