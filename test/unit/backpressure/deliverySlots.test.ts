import { describe, expect, it } from "vitest";
import { createDeliverySlots, type Slot } from "../../../src/backpressure/deliverySlots.ts";

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("createDeliverySlots", () => {
  it("gives out at most `size` slots and hands freed ones to waiters in order", async () => {
    const slots = createDeliverySlots(2);
    const a = await slots.acquire("a");
    const b = await slots.acquire("b");
    const order: string[] = [];
    const c = slots.acquire("c").then((slot) => {
      order.push("c");
      return slot;
    });
    const d = slots.acquire("d").then((slot) => {
      order.push("d");
      return slot;
    });
    await tick();
    expect(order).toEqual([]);
    expect(slots.inUse).toBe(2);

    a!.release();
    await tick();
    expect(order).toEqual(["c"]);
    b!.release();
    await tick();
    expect(order).toEqual(["c", "d"]);
    expect(slots.inUse).toBe(2);
    (await c)!.release();
    (await d)!.release();
    expect(slots.inUse).toBe(0);
  });

  it("refuses a delivery already in flight, also while it waits for a slot", async () => {
    const slots = createDeliverySlots(1);
    const first = await slots.acquire("x");
    expect(await slots.acquire("x")).toBeNull();
    const waiting = slots.acquire("y");
    expect(await slots.acquire("y")).toBeNull();
    first!.release();
    const release = await waiting;
    expect(release).not.toBeNull();
    release!.release();
    // Once released, the delivery may run again.
    const again = await slots.acquire("x");
    expect(again).not.toBeNull();
    again!.release();
  });

  it("counts a release once however often it is called", async () => {
    const slots = createDeliverySlots(1);
    const release = await slots.acquire("a");
    release!.release();
    release!.release();
    expect(slots.inUse).toBe(0);
    const next = await slots.acquire("b");
    expect(slots.inUse).toBe(1);
    next!.release();
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
    a!.release();
    await tick();
    expect(drained).toBe(false);
    b!.release();
    await done;
    expect(drained).toBe(true);
  });

  it("passes a slot set aside to the next waiter, keeping its delivery in flight, up to `size` set aside", async () => {
    const slots = createDeliverySlots(2);
    const a = (await slots.acquire("a"))!;
    const b = (await slots.acquire("b"))!;
    let c: Slot | null = null;
    const waitingC = slots.acquire("c").then((slot) => {
      c = slot;
    });
    await tick();
    expect(c).toBeNull();

    expect(a.setAside()).toBe(true);
    await waitingC;
    expect(c).not.toBeNull();
    expect(slots.inUse).toBe(2);
    expect(slots.setAside).toBe(1);
    // Set aside, its delivery is still in flight here, and setting it aside again does nothing.
    expect(await slots.acquire("a")).toBeNull();
    expect(a.setAside()).toBe(false);

    // A second one may go aside (two slots, two aside); a third keeps its slot.
    expect(b.setAside()).toBe(true);
    const d = (await slots.acquire("d"))!;
    expect(c!.setAside()).toBe(false);
    expect(slots.setAside).toBe(2);
    expect(slots.inUse).toBe(2);

    // Released, a slot set aside frees no slot (it had passed it on) but makes room aside.
    a.release();
    a.release();
    expect(slots.setAside).toBe(1);
    expect(slots.inUse).toBe(2);
    expect(c!.setAside()).toBe(true);
    const e = slots.acquire("e");
    expect(await e).not.toBeNull();
    expect(slots.inUse).toBe(2);
    for (const slot of [b, c!, d, (await e)!]) slot.release();
    expect(slots.inUse).toBe(0);
    expect(slots.setAside).toBe(0);
  });

  it("drained() waits for attempts set aside too", async () => {
    const slots = createDeliverySlots(1);
    const a = (await slots.acquire("a"))!;
    a.setAside();
    expect(slots.inUse).toBe(0);
    let drained = false;
    const done = slots.drained().then(() => {
      drained = true;
    });
    await tick();
    expect(drained).toBe(false);
    a.release();
    await done;
    expect(drained).toBe(true);
  });
});
