// @ts-check
/**
 * The VS Code client for estc: starts `estc lsp` (the language server of this package, over
 * stdio) for .est files. Highlighting comes from syntaxes/est.tmLanguage.json; diagnostics,
 * hover, definition, completion, outline and formatting come from the server.
 *
 * Which estc: the `estc.server.command` setting when set; else the workspace's own
 * node_modules/estc (the version the project builds with); else `estc` on the PATH.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

/** @type {LanguageClient | undefined} */
let client;

/**
 * The command that starts the server, as [command, ...args].
 * @returns {string[]}
 */
function serverCommand() {
  /** @type {string[]} */
  const configured = vscode.workspace.getConfiguration("estc").get("server.command") ?? [];
  if (configured.length > 0) return configured;
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const local = path.join(folder.uri.fsPath, "node_modules", "estc", "bin", "estc.js");
    if (fs.existsSync(local)) return ["node", local, "lsp"];
  }
  return ["estc", "lsp"];
}

/** @param {vscode.ExtensionContext} context */
function activate(context) {
  const [command, ...args] = serverCommand();
  /** @type {import("vscode-languageclient/node").ServerOptions} */
  const server = { command: /** @type {string} */ (command), args, transport: TransportKind.stdio };
  client = new LanguageClient("estc", "estc language server", server, {
    documentSelector: [{ scheme: "file", language: "est" }],
  });
  context.subscriptions.push({ dispose: () => void client?.stop() });
  return client.start();
}

function deactivate() {
  return client?.stop();
}

module.exports = { activate, deactivate };
