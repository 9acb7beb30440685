import "./scalars.ts";
import "./endpoint.ts";
import "./event.ts";
import "./delivery.ts";
import "./replay.ts";
import "./eventType.ts";
import "./live.ts";
import "./apiKey.ts";
import "./inbound.ts";
import "./portal.ts";
import { builder } from "./builder.ts";

export const schema = builder.toSchema();
