// Svelte 5 compiles TypeScript in <script lang="ts"> itself; no preprocessing.
export default {};
