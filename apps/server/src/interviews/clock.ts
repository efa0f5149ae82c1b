/** The server's notion of now. Timers and expiries read it; tests pass a controllable one. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();
