# A stand-in for real infrastructure: terraform_data needs no provider, so
# this runs offline under rigger dev. Replace it with your own resources
# (and give the rigger-terraform worker a provider mirror).
variable "name" {
  type = string
}

variable "environment" {
  type = string
}

resource "terraform_data" "environment" {
  input = {
    name        = var.name
    environment = var.environment
  }
}

output "environment_id" {
  value = terraform_data.environment.id
}
