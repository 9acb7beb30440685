import type { WebhookFormat } from "../delivery/formats/types.ts";
import { aliasesOf, EVENT_CATALOG, namesByFormat, OPERATIONAL_EVENT_TYPES } from "../services/eventTypes.ts";
import { sampleData } from "../services/samples.ts";
import { builder } from "./builder.ts";
import { WebhookFormatEnum } from "./endpoint.ts";

const EventTypeNameRef = builder
  .objectRef<{ format: WebhookFormat; name: string }>("EventTypeName")
  .implement({
    description: "The name a receiver in one format gets for an event type.",
    fields: (t) => ({
      format: t.expose("format", { type: WebhookFormatEnum }),
      name: t.exposeString("name"),
    }),
  });

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
    names: t.field({
      type: [EventTypeNameRef],
      description: "Its name in each format (the body's and event header's).",
      resolve: (e) => namesByFormat(e.type),
    }),
    aliases: t.stringList({
      description: "Other platforms' names for it, accepted wherever an event type is named.",
      resolve: (e) => aliasesOf(e.type),
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
