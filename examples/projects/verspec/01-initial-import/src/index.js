'use strict';

const { parse, format, valid } = require('./parse');
const { compare, eq, gt, gte, lt, lte, sort } = require('./compare');
const { satisfies } = require('./range');

module.exports = { parse, format, valid, compare, eq, gt, gte, lt, lte, sort, satisfies };
