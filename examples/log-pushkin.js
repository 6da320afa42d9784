// A custom pushkin: it logs each push instead of sending it, and answers 'delivered'.
// It shows the whole contract (docs/custom-pushkins.md) and lets Herald run with no provider credentials.
// Point an app at it with `type: ./examples/log-pushkin.js` (relative to the config file).

/** @param {import("../src/core/pushkin.js").PushkinSetup} setup */
export function createPushkin(setup) {
  return {
    name: setup.name,
    async dispatch(notification, device, ctx) {
      ctx.log.info(
        {
          pushkin: setup.name,
          event_id: notification.event_id,
          room_id: notification.room_id,
          counts: notification.counts,
        },
        "log-pushkin: would push",
      );
      return { kind: "delivered" };
    },
    async close() {},
  };
}
