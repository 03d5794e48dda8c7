import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";
import { showError } from "./lib/errors.svelte";

// No blank screens: anything unhandled becomes the error banner.
window.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  showError(event.reason);
});
window.addEventListener("error", (event) => showError(event.error ?? event.message));

const target = document.getElementById("app");
if (target) mount(App, { target });
