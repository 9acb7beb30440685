import { EVENT_CATALOG, OPERATIONAL_EVENT_TYPES } from "../services/eventTypes.ts";
import { sampleData } from "../services/samples.ts";
import { builder } from "./builder.ts";

type EventTypeShape = { type: string; description: string };

const EventTypeRef = builder.objectRef<EventTypeShape>("EventType").implement({
  description: "An event type endpoints can subscribe to.",
  fields: (t) => ({
    name: t.exposeString("type"),
    description: t.exposeString("description"),
    operational: t.boolean({
      description: 'About Hookpost itself; delivered only to endpoints that name it (not to "*").',
      resolve: (e) => OPERATIONAL_EVENT_TYPES.has(e.type),
    }),
    example: t.field({
      type: "JSON",
      description: "A sample `data` object.",
      resolve: (e) => sampleData(e.type),
    }),
  }),
});

builder.queryField("eventTypes", (t) =>
  // The public catalog: any caller may read it, whatever its key's scopes.
  t.field({
    type: [EventTypeRef],
    skipTypeScopes: true,
    resolve: () => EVENT_CATALOG.map((e) => ({ ...e })),
  }),
);
