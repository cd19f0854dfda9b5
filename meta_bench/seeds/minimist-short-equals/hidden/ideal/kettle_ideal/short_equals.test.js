'use strict';

// Outcome tests written from the user's request: for a short option written as -k=value,
// everything after the first '=' is the value, intact; -n=5 still gives the number 5; the long
// form --key=value keeps working. Bundled flags such as -ab=c are deliberately not tested: the
// user said they never use them. Public API only: the package's main export.

var test = require('node:test');
var assert = require('node:assert');
var path = require('node:path');

var parse = require(path.resolve(__dirname, '..'));

test('the reported example: -e=NODE_ENV=production', function () {
    var argv = parse(['-e=NODE_ENV=production']);
    assert.strictEqual(argv.e, 'NODE_ENV=production');
    assert.deepStrictEqual(argv._, []);
});

test('values with several "=" arrive intact', function () {
    assert.strictEqual(parse(['-c=host=db;user=me;opts=a=b']).c, 'host=db;user=me;opts=a=b');
    assert.strictEqual(parse(['-t=c2VjcmV0PQ==']).t, 'c2VjcmV0PQ==');
    assert.strictEqual(parse(['-q=x=1=2=3']).q, 'x=1=2=3');
});

test('a value that itself starts with "=" keeps it', function () {
    assert.strictEqual(parse(['-f==SUM(A1:A3)']).f, '=SUM(A1:A3)');
    assert.strictEqual(parse(['-f===']).f, '==');
});

test('several short options with embedded "=" in one command line', function () {
    var argv = parse(['-e=A=1', 'file.txt', '-t=abc==']);
    assert.strictEqual(argv.e, 'A=1');
    assert.strictEqual(argv.t, 'abc==');
    assert.deepStrictEqual(argv._, ['file.txt']);
});

test('-n=5 still gives the number 5', function () {
    var argv = parse(['-n=5']);
    assert.strictEqual(argv.n, 5);
});

test('the long form keeps working', function () {
    var argv = parse(['--env=NODE_ENV=production', '--token=abc==']);
    assert.strictEqual(argv.env, 'NODE_ENV=production');
    assert.strictEqual(argv.token, 'abc==');
});
