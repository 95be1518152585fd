/**
 * The pages the platform proxies rather than renders: a Node-RED editor and what a flow
 * serves, for an instance or a device. A browser loads them whole, outside the web app; the
 * server answers a problem there as a page, and the sign-in page sends a person back to one.
 * Groups: 1 instances|devices, 2 the id.
 */
export const PROXIED_PAGE_PATH = /^\/(instances|devices)\/([A-Za-z0-9-]{1,64})\/(editor|app)([/?#]|$)/;
