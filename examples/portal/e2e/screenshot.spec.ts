import { expect, test } from "@playwright/test";
import { demo, signIn } from "./fixtures";

// docs/portal.png for the README: only when asked (scripts/test-e2e --screenshot).
test("README screenshot", async ({ page }) => {
  const path = process.env.PORTAL_SCREENSHOT;
  test.skip(!path, "set PORTAL_SCREENSHOT to write the README screenshot");
  await signIn(page, demo.customerKey, demo.customerName);
  // The order page: lines, shipments, and the complaints the other tests raised against it.
  await page.goto(`orders/${encodeURIComponent(demo.customerOrderId)}`);
  await expect(page.getByTestId("lines").locator("tbody tr").first()).toBeVisible();
  await page.screenshot({ path: path!, fullPage: true });
});
