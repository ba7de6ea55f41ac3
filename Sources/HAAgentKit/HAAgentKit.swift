import HACore
