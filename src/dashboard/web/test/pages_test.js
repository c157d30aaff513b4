// placeholder
module.exports = { tests: [] };
