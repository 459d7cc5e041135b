"""The app's views (one per module) and the table they share."""
