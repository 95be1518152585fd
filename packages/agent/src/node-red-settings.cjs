'use strict';
// The settings file Node-RED loads (`--settings`), the same for every instance and device.
// Node-RED loads it with require(), so it is CommonJS, and kept this small: what it does is
// node-red-settings-runtime.cjs, and its values are the JSON file the agent writes before
// each start of Node-RED and names in NODE_RED_SETTINGS_VALUES (settings-file.ts).
const { nodeRedSettings, readNodeRedSettingsValues } = require('./node-red-settings-runtime.cjs');

const values = readNodeRedSettingsValues(process.env.NODE_RED_SETTINGS_VALUES);
// Read once: the flows need not see where.
delete process.env.NODE_RED_SETTINGS_VALUES;
module.exports = nodeRedSettings(values);
