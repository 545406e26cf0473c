/** Any JSON value: a person property value, as commands carry it and the PostHog client sends it. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };
