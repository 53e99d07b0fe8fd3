"""What leaves the machine: the model card and the push to the Hub (without the data's texts). Sits on `training`
and everything below it."""
