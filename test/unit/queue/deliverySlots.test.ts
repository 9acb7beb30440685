import { describe, expect, it } from "vitest";
import { createDeliverySlots } from "../../../src/queue/deliverySlots.ts";

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("createDeliverySlots", () => {
  it("gives out at most `size` slots and hands freed ones to waiters in order", async () => {
    const slots = createDeliverySlots(2);
    const a = await slots.acquire("a");
    const b = await slots.acquire("b");
    const order: string[] = [];
    const c = slots.acquire("c").then((release) => {
      order.push("c");
      return release;
    });
    const d = slots.acquire("d").then((release) => {
      order.push("d");
      return release;
    });
    await tick();
    expect(order).toEqual([]);
    expect(slots.inUse).toBe(2);

    a!();
    await tick();
    expect(order).toEqual(["c"]);
    b!();
    await tick();
    expect(order).toEqual(["c", "d"]);
    expect(slots.inUse).toBe(2);
    (await c)!();
    (await d)!();
    expect(slots.inUse).toBe(0);
  });

  it("refuses a delivery already in flight, also while it waits for a slot", async () => {
    const slots = createDeliverySlots(1);
    const first = await slots.acquire("x");
    expect(await slots.acquire("x")).toBeNull();
    const waiting = slots.acquire("y");
    expect(await slots.acquire("y")).toBeNull();
    first!();
    const release = await waiting;
    expect(release).toBeTypeOf("function");
    release!();
    // Once released, the delivery may run again.
    const again = await slots.acquire("x");
    expect(again).toBeTypeOf("function");
    again!();
  });

  it("counts a release once however often it is called", async () => {
    const slots = createDeliverySlots(1);
    const release = await slots.acquire("a");
    release!();
    release!();
    expect(slots.inUse).toBe(0);
    const next = await slots.acquire("b");
    expect(slots.inUse).toBe(1);
    next!();
  });

  it("drained() resolves when the last slot is released, at once when none is taken", async () => {
    const slots = createDeliverySlots(3);
    await slots.drained();
    const a = await slots.acquire("a");
    const b = await slots.acquire("b");
    let drained = false;
    const done = slots.drained().then(() => {
      drained = true;
    });
    a!();
    await tick();
    expect(drained).toBe(false);
    b!();
    await done;
    expect(drained).toBe(true);
  });
});
