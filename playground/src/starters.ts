/**
 * The programs the playground offers to start from: the quickstart's binary layer (the one
 * `npm run quickstart` trains) and a small estimator zoo to plot and compare.
 */
import quickstart from "../../examples/quickstart/binary.est?raw";
import zoo from "./starters/zoo.est?raw";
import softRound from "./starters/soft-round.est?raw";

/** A starter program: its menu label and text. */
export interface Starter {
  id: string;
  label: string;
  text: string;
}

/** The starters, the first being the default page's program. */
export const starters: Starter[] = [
  { id: "quickstart", label: "Quickstart: binary layer (examples/quickstart/binary.est)", text: quickstart },
  { id: "zoo", label: "Estimator zoo: sign with five surrogates", text: zoo },
  { id: "soft-round", label: "Your own estimator: soft rounding", text: softRound },
];
